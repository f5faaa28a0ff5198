mod keyspaces;
fn main() {}
