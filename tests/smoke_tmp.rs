use single_window::ceb::decode;
use single_window::rules::Rules;
use single_window::validate::validate;
#[test]
fn smoke() {
    let rules = Rules::embedded().unwrap();
    let mut files: Vec<_> = std::fs::read_dir("../shared/ceb/import")
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for p in files {
        let bytes = std::fs::read(&p).unwrap();
        let m = decode(&bytes, &rules.limits).unwrap();
        println!("{}", p.display());
        for (i, b) in m.blocks.iter().enumerate() {
            let r = validate(b, &rules);
            if i < 2 {
                for v in &r.violations {
                    println!("  [{}] {v}", i + 1);
                }
            }
        }
    }
}
