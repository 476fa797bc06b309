//! Tabular classification and regression (inference.md §3.2): the table goes at the top level,
//! `{"parameters": {}, "table": {…}}`, one prediction per row comes back.

use super::{from_value, json_value, run_json, shape_error, task_builder};
use crate::error::{Error, Result};
use crate::inference::InferenceClient;
use crate::inference::request::RawResponse;
use crate::inference::task::Task;
use crate::inference::types::*;

/// Checks the table is not empty, then sends it.
async fn send_table(
    client: &InferenceClient,
    task: Task,
    model: Option<&str>,
    headers: &[(String, String)],
    table: &Table,
    params: &NoParameters,
) -> Result<RawResponse> {
    if table.0.is_empty() || table.0.iter().all(|(_, cells)| cells.is_empty()) {
        return Err(Error::InvalidInput(format!(
            "{task} needs a table with at least one row"
        )));
    }
    let body = TabularRequest {
        parameters: params,
        table,
    };
    run_json(client, task, model, headers, &body).await
}

/// The answer as a list (one item per row).
fn list(resp: &RawResponse) -> Result<Vec<serde_json::Value>> {
    from_value(resp, "a list of predictions", json_value(resp)?)
}

task_builder! {
    /// A `tabular_classification` call; `.await` it for one label per row.
    TabularClassification -> Vec<String> { input: Table, params: NoParameters }
    options {}
    lists {}
}

impl TabularClassification {
    async fn send(self) -> Result<Vec<String>> {
        let resp = send_table(
            &self.client,
            Task::TabularClassification,
            self.model.as_deref(),
            &self.headers,
            &self.input,
            &self.params,
        )
        .await?;
        // Labels are strings on the wire; numeric labels are taken as their text.
        list(&resp)?
            .into_iter()
            .map(|v| match v {
                serde_json::Value::String(s) => Ok(s),
                serde_json::Value::Number(n) => Ok(n.to_string()),
                serde_json::Value::Bool(b) => Ok(b.to_string()),
                other => Err(shape_error(&resp, "a list of labels", &other)),
            })
            .collect()
    }
}

task_builder! {
    /// A `tabular_regression` call; `.await` it for one value per row.
    TabularRegression -> Vec<f64> { input: Table, params: NoParameters }
    options {}
    lists {}
}

impl TabularRegression {
    async fn send(self) -> Result<Vec<f64>> {
        let resp = send_table(
            &self.client,
            Task::TabularRegression,
            self.model.as_deref(),
            &self.headers,
            &self.input,
            &self.params,
        )
        .await?;
        list(&resp)?
            .into_iter()
            .map(|v| {
                let n = match &v {
                    serde_json::Value::Number(n) => n.as_f64(),
                    serde_json::Value::String(s) => s.trim().parse().ok(),
                    _ => None,
                };
                n.ok_or_else(|| shape_error(&resp, "a list of numbers", &v))
            })
            .collect()
    }
}

impl InferenceClient {
    /// Classifies the rows of a table (one label per row).
    ///
    /// ```no_run
    /// # async fn demo() -> hfkit::Result<()> {
    /// use hfkit::inference::types::Table;
    /// let client = hfkit::inference::InferenceClient::new()?;
    /// let table: Table = [("fixed_acidity", vec!["7.4", "7.8"]), ("alcohol", vec!["9.4", "9.8"])]
    ///     .into_iter()
    ///     .collect();
    /// let labels = client
    ///     .tabular_classification(table)
    ///     .model("julien-c/wine-quality")
    ///     .await?;
    /// println!("{labels:?}");
    /// # Ok(()) }
    /// ```
    pub fn tabular_classification(&self, table: Table) -> TabularClassification {
        TabularClassification::new(self, table)
    }

    /// Predicts a number for each row of a table (hfkit-only: Python cannot call this task;
    /// hf-inference does not serve it, so use a model URL or the legacy API).
    pub fn tabular_regression(&self, table: Table) -> TabularRegression {
        TabularRegression::new(self, table)
    }
}
