fn main() {
    switchyard_agents::link();
    for wf in switchyard_sdk::workflows() {
        let def = (wf.definition)();
        println!("{}", serde_json::to_string_pretty(&def).unwrap());
        println!("{:?}", switchyard_ir::validate(&def));
        println!("{:?}", switchyard_ir::estimate(&def));
    }
}
