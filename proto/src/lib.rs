//! The carenet wire contract between party nodes.
//!
//! Generated at build time from `proto/carenet/v1/*.proto`; nothing generated is
//! committed. The wire format is a contract with other organisations: it only
//! changes additively (new fields, new messages), field numbers are never reused.

#![allow(clippy::all)]

pub mod v1 {
    tonic::include_proto!("carenet.v1");
}

/// Encoded `FileDescriptorSet` of all carenet protos, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("carenet_descriptor");
