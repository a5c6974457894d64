//! The application router: every route of [`crate::api`], registered
//! through the route table, the TAXII 2.1 face ([`crate::taxii`], answering
//! in TAXII's own media type) and the web UI's pages ([`crate::ui`], not API
//! operations), with problem-details answers for unknown paths and methods.

use axum::Router;

use crate::AppState;
use crate::table::{Op, Table, method_not_allowed};

/// The router of the whole API.
pub fn build(state: AppState) -> Router {
    let mut t = Table::new(Some(state.clone()));
    crate::api::routes(&mut t);
    let (router, _) = t.into_parts();
    router
        .merge(crate::taxii::routes(state.clone()))
        .merge(crate::ui::routes())
        .fallback(crate::ui::not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

/// Every operation of the API (for the OpenAPI document and the tests).
pub fn ops() -> Vec<Op> {
    let mut t = Table::new(None);
    crate::api::routes(&mut t);
    t.into_parts().1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_ids_are_the_handler_names() {
        let ops = ops();
        assert!(ops.len() > 60, "{} operations", ops.len());
        for op in &ops {
            let handler = op.handler.rsplit("::").next().unwrap_or("");
            assert_eq!(
                handler, op.id,
                "the handler of {} {} is {}",
                op.method, op.path, op.handler
            );
        }
    }

    #[test]
    fn operation_ids_are_unique() {
        let ops = ops();
        let mut ids: Vec<&str> = ops.iter().map(|o| o.id).collect();
        ids.sort();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n, "an operation id is used twice");
    }
}
