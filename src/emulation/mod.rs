//! The DSQL emulation: what makes a PostgreSQL database (the local sandbox, or `--database-url` unless `--rules
//! off`) answer like Aurora DSQL where the answer depends on running the statement, and the local sandbox process
//! that carries it. Rules that need no database are checked before sending by `sql`, in every mode; fidelity work
//! that needs the database has its home here.
//!
//! The engine (`exec`) knows nothing of this room: it calls the emulation through its hooks
//! (`exec::hooks`), which [`Dsql`] implements ([`hooks`]).
//!
//! - [`adapt`]: DSQL-only syntax rewritten for PostgreSQL (`ASYNC`, `AWS IAM GRANT`, bare `numeric`, `STORAGE`).
//! - [`quota_counts`]: counting in the catalog, before a statement runs, the database-wide limits it can hit
//!   (which ones, a fact about DSQL's language, `sql::quota` decides while checking).
//! - [`transactions`]: DSQL's transaction limits and optimistic-concurrency answers.
//! - [`async_jobs`]: when emulated async jobs complete; [`sys_schema`]: the `sys` objects DSQL has.
//! - [`sandbox`], [`pgbin`], [`roles`]: the local sandbox's PostgreSQL process, its binaries, who connects to it.

pub mod adapt;
pub mod async_jobs;
pub mod hooks;
pub mod pgbin;
pub mod quota_counts;
pub mod roles;
pub mod sandbox;
pub mod sys_schema;
pub mod transactions;

pub use hooks::Dsql;
