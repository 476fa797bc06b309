//! Tabular classification and regression.

use serde::Serialize;

use super::{NoParameters, Table};

/// The body of the tabular tasks: `{"parameters": {}, "table": {…}}`, no `inputs`
/// (inference.md §3.2).
#[derive(Debug, Clone, Serialize)]
pub struct TabularRequest<'a> {
    /// The parameters (`{}` unless extra keys are set).
    pub parameters: &'a NoParameters,
    /// The rows to predict, by column.
    pub table: &'a Table,
}
