//! The background runtime of the blocking twins.
//!
//! One current-thread tokio runtime runs on its own thread; blocking calls send their future there
//! and wait for the answer on a plain channel. So blocking calls work in a plain `main`, inside
//! `tokio::task::spawn_blocking`, and even from a thread that already runs a runtime (where
//! `Runtime::block_on` would panic). Streams become lazy iterators that pull one item per `next`
//! and cancel the request when dropped.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, mpsc as std_mpsc};

use futures::{Stream, StreamExt};
use tokio::sync::mpsc;

use crate::error::{Error, Result};

type Job = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Handle on the background runtime. Cheap to clone; the thread stops when the last handle goes.
#[derive(Clone, Debug)]
pub(crate) struct Runtime {
    tx: mpsc::UnboundedSender<Job>,
}

impl Runtime {
    pub(crate) fn new() -> Result<Arc<Self>> {
        let (tx, mut rx) = mpsc::unbounded_channel::<Job>();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::io("starting the background runtime of the blocking client", e))?;
        std::thread::Builder::new()
            .name("hfkit-blocking".into())
            .spawn(move || {
                rt.block_on(async move {
                    while let Some(job) = rx.recv().await {
                        tokio::spawn(job);
                    }
                });
            })
            .map_err(|e| Error::io("starting the thread of the blocking client", e))?;
        Ok(Arc::new(Runtime { tx }))
    }

    /// Runs `fut` on the background runtime and waits for its output.
    pub(crate) fn block_on<F, T>(&self, fut: F) -> Result<T>
    where
        F: Future<Output = Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        let (otx, orx) = std_mpsc::sync_channel(1);
        let job: Job = Box::pin(async move {
            let _ = otx.send(fut.await);
        });
        if self.tx.send(job).is_err() {
            return Err(gone());
        }
        orx.recv().unwrap_or_else(|_| Err(gone()))
    }

    /// Turns a stream into a lazy iterator driven by the background runtime.
    pub(crate) fn iter<S, T>(&self, stream: S) -> BlockingIter<T>
    where
        S: Stream<Item = Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        let (demand_tx, mut demand_rx) =
            mpsc::unbounded_channel::<std_mpsc::SyncSender<Option<Result<T>>>>();
        let job: Job = Box::pin(async move {
            let mut stream = Box::pin(stream);
            while let Some(reply) = demand_rx.recv().await {
                let item = stream.next().await;
                let end = item.is_none();
                if reply.send(item).is_err() || end {
                    break;
                }
            }
        });
        let ok = self.tx.send(job).is_ok();
        BlockingIter {
            demand: ok.then_some(demand_tx),
            done: false,
        }
    }
}

fn gone() -> Error {
    Error::io(
        "the background runtime of the blocking client",
        std::io::Error::other("it stopped"),
    )
}

/// A lazy, blocking iterator over a paginated or streamed result. Dropping it cancels the
/// underlying request.
#[derive(Debug)]
pub struct BlockingIter<T> {
    demand: Option<mpsc::UnboundedSender<std_mpsc::SyncSender<Option<Result<T>>>>>,
    done: bool,
}

impl<T> Iterator for BlockingIter<T> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        if self.done {
            return None;
        }
        let Some(demand) = &self.demand else {
            self.done = true;
            return Some(Err(gone()));
        };
        let (tx, rx) = std_mpsc::sync_channel(1);
        if demand.send(tx).is_err() {
            self.done = true;
            return None;
        }
        match rx.recv() {
            Ok(Some(item)) => Some(item),
            Ok(None) | Err(_) => {
                self.done = true;
                None
            }
        }
    }
}
