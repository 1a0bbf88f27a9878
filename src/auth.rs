//! Who a caller is, and what each kind of caller may do.
//!
//! - [`register`]: the register of identities — which client certificate (by SHA-256
//!   fingerprint or subject) is which enterprise, agency or operator, and which are revoked
//!   (parsing and lookup are pure; the file is read by the shell);
//! - [`policy`]: the rules, pure: which calls each role may make, that an enterprise sends
//!   documents only in its own role, reads only its own shipments, and that an agency reports
//!   only for itself.
//!
//! A caller is [`Caller::Local`] on a plaintext loopback connection (the embedded default:
//! one machine, one operator, trusted in every role); under TLS it is the register's entry for
//! its certificate, or [`Caller::Anonymous`] without one.

pub mod policy;
pub mod register;

pub use policy::Denied;
pub use register::{Lookup, Register, RegisterError};

use crate::domain::Agency;

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A plaintext connection on loopback: trusted in every role; a submission's sender is
    /// what the request (or the message's `copCode`) says.
    Local,
    /// A TLS connection without a client certificate.
    Anonymous,
    /// A client certificate the register names.
    Known(Identity),
}

/// An entry of the register: a name and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The entry's name (for logs and the audit log).
    pub name: String,
    /// What it is.
    pub role: Role,
}

/// What an identity is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// An enterprise, by its customs code (e-commerce platform or enterprise, payment,
    /// logistics, agent, warehouse: its role in each document is checked per document).
    Enterprise(String),
    /// An agency.
    Agency(Agency),
    /// An operator of the gateway (dead letters, every shipment).
    Operator,
}

impl Caller {
    /// The enterprise code, when the caller is an enterprise.
    pub fn enterprise(&self) -> Option<&str> {
        match self {
            Caller::Known(Identity {
                role: Role::Enterprise(code),
                ..
            }) => Some(code),
            _ => None,
        }
    }

    /// For reasons and the audit log: `enterprise 1105910159`, `agency customs`, `operator
    /// ops-1`, `local`, `anonymous`.
    pub fn describe(&self) -> String {
        match self {
            Caller::Local => "local".to_owned(),
            Caller::Anonymous => "anonymous".to_owned(),
            Caller::Known(id) => match &id.role {
                Role::Enterprise(code) => format!("enterprise {code}"),
                Role::Agency(agency) => format!("agency {}", agency.name()),
                Role::Operator => format!("operator {}", id.name),
            },
        }
    }
}
