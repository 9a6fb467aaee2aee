//! `LinkSigner::verify` on arbitrary and altered tokens: it never panics,
//! only a token this key signed over valid claims is accepted, and expiry
//! is exact.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use duet_signaling::{Role, SessionId};
use hmac::{Hmac, Mac};
use proptest::prelude::*;
use sha2::Sha256;

use crate::links::{Claims, LinkError, LinkSigner};

const KEY: [u8; 32] = [7; 32];

fn claims(exp: i64) -> Claims {
    Claims {
        v: 1,
        sid: SessionId(uuid::Uuid::from_u128(42)),
        role: Role::Mentee,
        exp,
        lid: "link-id".to_owned(),
    }
}

/// A token over `body` with a valid signature: what verify sees only if
/// the key leaked, or if the server itself signed something odd.
fn signed_body(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(&KEY).expect("any key length");
    mac.update(body);
    let sig = mac.finalize().into_bytes();
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(body),
        URL_SAFE_NO_PAD.encode(sig)
    )
}

/// One change to a token: replace, insert or delete a character.
fn mutate(token: &str, at: usize, op: u8, c: char) -> String {
    let mut chars: Vec<char> = token.chars().collect();
    let at = at % (chars.len() + 1);
    match op % 3 {
        0 if at < chars.len() => chars[at] = c,
        1 => chars.insert(at, c),
        _ if at < chars.len() => {
            chars.remove(at);
        }
        _ => chars.push(c),
    }
    chars.into_iter().collect()
}

proptest! {
    #![proptest_config(super::config(512))]

    #[test]
    fn arbitrary_tokens_are_refused(token in ".{0,1500}", now in any::<i64>()) {
        let signer = LinkSigner::new(KEY);
        prop_assert_eq!(signer.verify(&token, now), Err(LinkError::Invalid));
    }

    #[test]
    fn tokens_of_base64_pieces_are_refused(
        body in proptest::collection::vec(any::<u8>(), 0..300),
        sig in proptest::collection::vec(any::<u8>(), 0..40),
    ) {
        let token = format!("{}.{}", URL_SAFE_NO_PAD.encode(&body), URL_SAFE_NO_PAD.encode(&sig));
        let signer = LinkSigner::new(KEY);
        prop_assert_eq!(signer.verify(&token, 0), Err(LinkError::Invalid));
    }

    #[test]
    fn any_change_to_a_real_token_is_refused(
        exp in any::<i64>(),
        at in any::<usize>(),
        op in any::<u8>(),
        c in any::<char>(),
    ) {
        let signer = LinkSigner::new(KEY);
        let token = signer.sign(&claims(exp));
        let altered = mutate(&token, at, op, c);
        prop_assume!(altered != token);
        prop_assert_eq!(signer.verify(&altered, i64::MIN), Err(LinkError::Invalid));
    }

    #[test]
    fn a_signed_body_is_accepted_only_as_valid_claims(
        body in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..200),
            ".{0,200}".prop_map(String::into_bytes),
            (any::<u8>(), any::<i64>(), ".{0,40}").prop_map(|(v, exp, lid)| {
                serde_json::json!({
                    "v": v, "sid": uuid::Uuid::from_u128(1), "role": "mentor",
                    "exp": exp, "lid": lid,
                })
                .to_string()
                .into_bytes()
            }),
        ],
        now in any::<i64>(),
    ) {
        let signer = LinkSigner::new(KEY);
        match signer.verify(&signed_body(&body), now) {
            Ok(c) => {
                prop_assert_eq!(c.v, 1);
                prop_assert!(now < c.exp);
                prop_assert!(serde_json::from_slice::<Claims>(&body).is_ok());
            }
            Err(LinkError::Expired) => {
                let c: Claims = serde_json::from_slice(&body).expect("expired means parsed");
                prop_assert!(now >= c.exp);
            }
            Err(LinkError::Invalid) => {}
        }
    }

    #[test]
    fn expiry_is_exact(exp in any::<i64>(), now in any::<i64>()) {
        let signer = LinkSigner::new(KEY);
        let got = signer.verify(&signer.sign(&claims(exp)), now);
        if now < exp {
            prop_assert_eq!(got, Ok(claims(exp)));
        } else {
            prop_assert_eq!(got, Err(LinkError::Expired));
        }
    }
}
