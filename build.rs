//! Generates the protobuf types from `proto/` with a vendored `protoc` (no system protoc).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The variable only tells prost-build which protoc to run (the one the crate ships).
    std::env::set_var("PROTOC", protoc_bin_vendored::protoc_bin_path()?);
    println!("cargo:rerun-if-changed=proto");
    tonic_prost_build::configure()
        .build_server(false)
        .build_client(false)
        .compile_protos(&["proto/singlewindow/v1/declarations.proto"], &["proto"])?;
    Ok(())
}
