use super::*;
use uuid::Uuid;

fn claims(exp: i64) -> Claims {
    Claims {
        v: 1,
        sid: SessionId(Uuid::new_v4()),
        role: Role::Mentee,
        exp,
        lid: new_link_id(),
    }
}

#[test]
fn a_signed_token_verifies() {
    let signer = LinkSigner::new([7; 32]);
    let c = claims(2_000);
    let token = signer.sign(&c);
    assert_eq!(signer.verify(&token, 1_000), Ok(c));
}

#[test]
fn expired_tokens_are_refused() {
    let signer = LinkSigner::new([7; 32]);
    let token = signer.sign(&claims(1_000));
    assert_eq!(signer.verify(&token, 1_000), Err(LinkError::Expired));
}

#[test]
fn forged_and_altered_tokens_are_refused() {
    let signer = LinkSigner::new([7; 32]);
    let other = LinkSigner::new([8; 32]);
    let token = other.sign(&claims(2_000));
    assert_eq!(signer.verify(&token, 0), Err(LinkError::Invalid));

    // Flip the role inside a genuine token, keep its signature.
    let token = signer.sign(&claims(2_000));
    let (body, sig) = token.split_once('.').expect("two parts");
    let json = String::from_utf8(URL_SAFE_NO_PAD.decode(body).expect("b64")).expect("utf8");
    let altered = json.replace("mentee", "mentor");
    let forged = format!("{}.{sig}", URL_SAFE_NO_PAD.encode(altered));
    assert_eq!(signer.verify(&forged, 0), Err(LinkError::Invalid));

    for junk in ["", ".", "abc", "a.b", "a.b.c", &"x".repeat(5000)] {
        assert_eq!(signer.verify(junk, 0), Err(LinkError::Invalid), "{junk:?}");
    }
}
