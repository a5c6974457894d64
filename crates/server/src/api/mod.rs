//! The HTTP API, one module per resource. Each module registers its routes
//! next to its handlers; a handler's name is its operation id. Handlers
//! parse, call the service, and map the answer: the service decides who
//! may see or do what.

pub mod admin;
pub mod audit;
pub mod cases;
pub mod common;
pub mod contributions;
pub mod delivery;
pub mod disposals;
pub mod disputes;
pub mod exchange;
pub mod filters;
pub mod intake;
pub mod ops;
pub mod policy;
pub mod records;
pub mod records_export;
pub mod relations;
pub mod screening;
pub mod session;
pub mod stix;
pub mod taxii;

use crate::table::{Access, Table};
use tocsin_domain::access::Permission;

/// A route that needs `p`.
pub(crate) fn needs(p: Permission) -> Access {
    Access::Needs(p)
}

/// Every route of the API.
pub fn routes(t: &mut Table) {
    ops::routes(t);
    session::routes(t);
    intake::routes(t);
    cases::routes(t);
    policy::routes(t);
    audit::routes(t);
    admin::routes(t);
    delivery::routes(t);
    screening::routes(t);
    contributions::routes(t);
    relations::routes(t);
    disputes::routes(t);
    disposals::routes(t);
    stix::routes(t);
    exchange::routes(t);
    taxii::routes(t);
    records::routes(t);
    records_export::routes(t);
}
