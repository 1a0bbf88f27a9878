//! Protobuf at the edge: the generated `singlewindow.v1` types and their conversion into the
//! domain model. A field that does not parse into its domain type is a violation naming the
//! field and the rule, as with CEB XML; nothing past this module sees prost types.

mod agency;

pub use agency::{fx_settlement, inspection, tax, violation};

/// Generated from `proto/singlewindow/v1/*.proto` by `build.rs`.
#[allow(missing_docs, clippy::all)]
pub mod v1 {
    include!(concat!(env!("OUT_DIR"), "/singlewindow.v1.rs"));
}

/// The encoded descriptors of `singlewindow.v1`, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/singlewindow_descriptor.bin"));
