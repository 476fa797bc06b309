//! Shared helpers of the integration tests: loopback Hub servers with fault injection, the Python
//! reference client, and a throttling proxy. Each test file uses only part of it.
#![allow(dead_code, unused_imports)]

pub mod cassette;
pub mod hub;
pub mod python;
pub mod throttle;
pub mod writable;
