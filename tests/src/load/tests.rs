use super::*;

#[test]
fn derives_the_websocket_url() {
    assert_eq!(
        ws_url_for("http://127.0.0.1:8080/"),
        "ws://127.0.0.1:8080/api/v1/ws"
    );
    assert_eq!(
        ws_url_for("https://duet.example"),
        "wss://duet.example/api/v1/ws"
    );
    assert_eq!(ws_url_for("10.0.0.1:80"), "ws://10.0.0.1:80/api/v1/ws");
}

#[test]
fn parses_shapes() {
    assert_eq!(Shape::parse("320x240"), Some(Shape::Small));
    assert_eq!(Shape::parse("640x480@30"), Some(Shape::Large));
    assert_eq!(Shape::parse("1280x720"), None);
    for name in Shape::NAMES {
        let shape = Shape::parse(name).expect("a listed name parses");
        assert!(crate::ivf::fixture_path(shape.fixture()).exists());
    }
}
