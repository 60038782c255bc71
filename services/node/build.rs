//! Embeds the project's migration sets (`migrations/{sqlite,postgres}/NNNN_name.sql`)
//! in order, so a slice adds its tables by adding files, not by editing code.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    // Read at run time: the script binary may be reused from a clone elsewhere.
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR");
    let root = Path::new(&manifest).join("../../migrations");
    let mut out = String::new();
    for backend in ["sqlite", "postgres"] {
        let dir = root.join(backend);
        println!("cargo:rerun-if-changed={}", dir.display());
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "sql"))
            .collect();
        files.sort();
        let _ = writeln!(
            out,
            "/// The {backend} migrations, in order.\npub const {}: carenet_fabric::store::MigrationSet = &[",
            backend.to_uppercase()
        );
        for f in files {
            let stem = f.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
            let (num, name) = stem
                .split_once('_')
                .unwrap_or_else(|| panic!("{}: name it NNNN_name.sql", f.display()));
            let version: i64 = num
                .parse()
                .unwrap_or_else(|_| panic!("{}: name it NNNN_name.sql", f.display()));
            let path = f.canonicalize().unwrap_or(f.clone());
            let _ = writeln!(
                out,
                "    ({version}, {name:?}, include_str!({:?})),",
                path.display().to_string()
            );
        }
        out.push_str("];\n");
    }
    let dest = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("migrations.rs");
    std::fs::write(dest, out).expect("write migrations.rs");
}
