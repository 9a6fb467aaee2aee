use super::*;

#[test]
fn a_new_agreement_is_the_template_confirmed_by_nobody() {
    let a = Agreement::new();
    assert_eq!(a.version, 1);
    assert_eq!(a.state(), AgreementState::Unconfirmed);
    assert!(a.text.contains("Confidentiality"));
    assert!(a.text.contains("late or unwell"));
}

#[test]
fn both_confirming_the_same_version_confirms_it() {
    let mut a = Agreement::new();
    a.confirm(Role::Mentor, 1).unwrap();
    assert_eq!(a.state(), AgreementState::Partly);
    assert!(a.confirmed_by(Role::Mentor));
    assert!(!a.confirmed_by(Role::Mentee));
    a.confirm(Role::Mentee, 1).unwrap();
    assert_eq!(a.state(), AgreementState::Confirmed);
}

#[test]
fn an_edit_clears_both_confirmations_until_each_confirms_again() {
    let mut a = Agreement::new();
    a.confirm(Role::Mentor, 1).unwrap();
    a.confirm(Role::Mentee, 1).unwrap();
    assert!(a.edit("We record nothing.", 1).unwrap());
    assert_eq!(a.version, 2);
    assert_eq!(a.state(), AgreementState::Unconfirmed);
    a.confirm(Role::Mentee, 2).unwrap();
    assert_eq!(a.state(), AgreementState::Partly);
}

#[test]
fn confirming_or_editing_an_old_version_is_refused_and_changes_nothing() {
    let mut a = Agreement::new();
    a.edit("v2", 1).unwrap();
    let before = a.clone();
    assert_eq!(
        a.confirm(Role::Mentor, 1),
        Err(AgreementError::Stale {
            current: 2,
            what: "confirm it"
        })
    );
    assert!(matches!(
        a.edit("mine", 1),
        Err(AgreementError::Stale { current: 2, .. })
    ));
    assert_eq!(a, before);
}

#[test]
fn an_edit_that_changes_nothing_keeps_the_confirmations() {
    let mut a = Agreement::new();
    a.confirm(Role::Mentor, 1).unwrap();
    let same = a.text.replace('\n', "\r\n");
    assert!(!a.edit(&same, 1).unwrap());
    assert_eq!(a.version, 1);
    assert!(a.confirmed_by(Role::Mentor));
}

#[test]
fn bad_text_is_refused_and_changes_nothing() {
    let mut a = Agreement::new();
    let before = a.clone();
    let long = "x".repeat(MAX_AGREEMENT_CHARS + 1);
    assert_eq!(a.edit(&long, 1), Err(AgreementError::TooLong));
    assert_eq!(
        a.edit("bell\u{7}", 1),
        Err(AgreementError::ControlCharacters)
    );
    assert_eq!(a, before);
    // Line breaks and tabs are text, not control.
    assert!(a.edit("a\n\tb", 1).unwrap());
}
