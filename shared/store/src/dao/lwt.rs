//! Reading the answer of a lightweight transaction: `[applied]`, and when not applied, the
//! current values of the row that made the condition fail.

use std::collections::HashMap;

use scylla::response::query_result::QueryResult;
use scylla::value::{CqlValue, Row};

use crate::error::StoreError;

pub(crate) struct LwtAnswer {
    pub applied: bool,
    /// Columns of the existing row (empty when applied).
    pub existing: HashMap<String, CqlValue>,
}

impl LwtAnswer {
    pub fn from_result(result: QueryResult) -> Result<Self, StoreError> {
        let internal =
            |e: &dyn std::fmt::Display| StoreError::Internal(format!("unexpected LWT answer: {e}"));
        let rows = result.into_rows_result().map_err(|e| internal(&e))?;
        let names: Vec<String> = rows
            .column_specs()
            .iter()
            .map(|s| s.name().to_owned())
            .collect();
        let row: Row = rows.first_row().map_err(|e| internal(&e))?;
        let mut applied = None;
        let mut existing = HashMap::new();
        for (name, value) in names.into_iter().zip(row.columns) {
            match (name.as_str(), value) {
                ("[applied]", Some(CqlValue::Boolean(b))) => applied = Some(b),
                (_, Some(v)) => {
                    existing.insert(name, v);
                }
                (_, None) => {}
            }
        }
        let applied = applied.ok_or_else(|| internal(&"no [applied] column"))?;
        Ok(LwtAnswer { applied, existing })
    }

    pub fn uuid(&self, column: &str) -> Option<uuid::Uuid> {
        match self.existing.get(column) {
            Some(CqlValue::Uuid(u)) => Some(*u),
            Some(CqlValue::Timeuuid(u)) => Some((*u).into()),
            _ => None,
        }
    }

    pub fn int(&self, column: &str) -> Option<i32> {
        match self.existing.get(column) {
            Some(CqlValue::Int(i)) => Some(*i),
            _ => None,
        }
    }

    pub fn text(&self, column: &str) -> Option<&str> {
        match self.existing.get(column) {
            Some(CqlValue::Text(s)) | Some(CqlValue::Ascii(s)) => Some(s),
            _ => None,
        }
    }

    pub fn blob(&self, column: &str) -> Option<&[u8]> {
        match self.existing.get(column) {
            Some(CqlValue::Blob(b)) => Some(b),
            _ => None,
        }
    }

    pub fn boolean(&self, column: &str) -> Option<bool> {
        match self.existing.get(column) {
            Some(CqlValue::Boolean(b)) => Some(*b),
            _ => None,
        }
    }

    pub fn decimal(&self, column: &str) -> Option<scylla::value::CqlDecimal> {
        match self.existing.get(column) {
            Some(CqlValue::Decimal(d)) => Some(d.clone()),
            _ => None,
        }
    }

    pub fn timestamp_ms(&self, column: &str) -> Option<i64> {
        match self.existing.get(column) {
            Some(CqlValue::Timestamp(t)) => Some(t.0),
            _ => None,
        }
    }
}
