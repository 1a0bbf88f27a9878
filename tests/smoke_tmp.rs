use single_window::ceb::{decode, Limits};
#[test]
fn smoke() {
    for e in std::fs::read_dir("../shared/ceb/import").unwrap().chain(std::fs::read_dir("../shared/ceb/export").unwrap()) {
        let p = e.unwrap().path();
        let bytes = std::fs::read(&p).unwrap();
        match decode(&bytes, &Limits::default()) {
            Ok(m) => {
                let d: usize = m.blocks.iter().map(|b| b.defects.len()).sum();
                println!("{}: {:?} blocks={} defects={} env={} sender={:?}", p.display(), m.kind, m.blocks.len(), d, m.envelope_defects.len(), m.sender());
                for b in &m.blocks { for v in &b.defects { println!("   {v}"); } }
            }
            Err(e) => println!("{}: ERR {e}", p.display()),
        }
    }
}
