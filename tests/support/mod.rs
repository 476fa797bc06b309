//! Shared helpers of the integration tests: loopback Hub servers with fault injection, the Python
//! reference client, a throttling proxy, and a real OpenAI-compatible LLM server (llama.cpp via
//! llama-cpp-python). Each test file uses only part of it.
#![allow(dead_code, unused_imports)]

pub mod cassette;
pub mod cutter;
pub mod hub;
pub mod llama;
pub mod python;
pub mod recorder;
pub mod tgi;
pub mod throttle;
pub mod writable;
