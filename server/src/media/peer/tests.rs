use super::*;
use rtc::peer_connection::configuration::interceptor_registry::register_default_interceptors;

#[test]
fn the_same_interceptors_as_rtcs_defaults() {
    let mut ours = MediaEngine::default();
    let mut theirs = MediaEngine::default();
    let a = register_interceptors(Registry::new(), &mut ours).expect("ours");
    let b = register_default_interceptors(Registry::new(), &mut theirs).expect("defaults");
    assert_eq!(a.slots(), b.slots());
}
