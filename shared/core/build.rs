// The knowledge base is compiled into the agent; rebuild when it changes.
fn main() {
    println!("cargo:rerun-if-changed=../../context/knowledge-base");
}
