//! Why a report body or a stored record or entry is refused.

/// What is wrong with a field (or, with no field, with the body as a whole).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldProblem {
    #[error("the field is missing")]
    Missing,
    #[error("the field is not part of a report")]
    Unknown,
    #[error("the field appears more than once")]
    Duplicate,
    #[error("expected {expected}")]
    WrongType { expected: &'static str },
    #[error("the value is out of range: {rule}")]
    OutOfRange { rule: &'static str },
    #[error("{0}")]
    Rule(&'static str),
}

/// Why a report body (or a stored entry) was refused. `field` names the
/// offending field; `None` means the body as a whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("the body is not a UTF-8 JSON object: {0}")]
    Body(String),
    #[error("field `{field}`: {problem}")]
    Field {
        field: String,
        problem: FieldProblem,
    },
    #[error("the entry is not in canonical form")]
    NotCanonical,
}

impl ParseError {
    /// The field the error names, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            ParseError::Field { field, .. } => Some(field),
            _ => None,
        }
    }

    pub(super) fn field_problem(field: &str, problem: FieldProblem) -> ParseError {
        ParseError::Field {
            field: field.to_owned(),
            problem,
        }
    }
}
