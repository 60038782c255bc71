//! Generates the gRPC code from every `carenet/v1/*.proto` with protox (no
//! system protoc): a new slice adds its file, not a line here.

use std::path::PathBuf;

use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=carenet/v1");
    let mut files: Vec<String> = std::fs::read_dir("carenet/v1")?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".proto"))
        .map(|n| format!("carenet/v1/{n}"))
        .collect();
    files.sort();
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
