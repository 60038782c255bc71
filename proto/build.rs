//! Generates the gRPC code from `carenet/v1/*.proto` with protox (no system protoc).

use std::path::PathBuf;

use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "carenet/v1/common.proto",
        "carenet/v1/exchange.proto",
        "carenet/v1/directory.proto",
        "carenet/v1/audit.proto",
        "carenet/v1/bench.proto",
        "carenet/v1/consent.proto",
        "carenet/v1/handover.proto",
    ];
    for f in &files {
        println!("cargo:rerun-if-changed={f}");
    }
    let fds = protox::compile(files, ["."])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    // compile_fds does not write the descriptor set itself; reflection needs it.
    std::fs::write(out.join("carenet_descriptor.bin"), fds.encode_to_vec())?;
    tonic_prost_build::configure().compile_fds(fds)?;
    Ok(())
}
