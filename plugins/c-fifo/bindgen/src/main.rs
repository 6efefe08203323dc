//! Writes the C bindings of `plugins/matchmaker.wit` (world `policy`) into `../bindings`.
use wit_bindgen_core::{Files, WorldGenerator, wit_parser::Resolve};

fn main() -> anyhow::Result<()> {
    let mut resolve = Resolve::default();
    let (pkg, _) = resolve.push_path("../../matchmaker.wit")?;
    let world = resolve.select_world(&[pkg], Some("policy"))?;
    let mut files = Files::default();
    wit_bindgen_c::Opts::default().build().generate(&mut resolve, world, &mut files)?;
    std::fs::create_dir_all("../bindings")?;
    for (name, contents) in files.iter() {
        std::fs::write(format!("../bindings/{name}"), contents)?;
        println!("wrote bindings/{name}");
    }
    Ok(())
}
