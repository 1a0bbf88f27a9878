//! Generates the protobuf types from `proto/` with a vendored `protoc` (no system protoc).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The variable only tells prost-build which protoc to run (the one the crate ships).
    std::env::set_var("PROTOC", protoc_bin_vendored::protoc_bin_path()?);
    println!("cargo:rerun-if-changed=proto");
    tonic_prost_build::configure()
        .file_descriptor_set_path(
            std::path::PathBuf::from(std::env::var("OUT_DIR")?).join("singlewindow_descriptor.bin"),
        )
        .compile_protos(
            &[
                "proto/singlewindow/v1/declarations.proto",
                "proto/singlewindow/v1/gateway.proto",
                "proto/singlewindow/v1/agency.proto",
            ],
            &["proto"],
        )?;
    Ok(())
}
