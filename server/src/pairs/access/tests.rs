use super::*;

fn session() -> SessionId {
    SessionId(uuid::Uuid::nil())
}

const ALL_OPS: [Operation; 16] = [
    Operation::ReadOutline,
    Operation::Manage,
    Operation::Schedule,
    Operation::EditSelf,
    Operation::Join,
    Operation::ReadAgenda,
    Operation::EditAgenda,
    Operation::ReadActions,
    Operation::EditActions,
    Operation::ReadNotes,
    Operation::WriteNotes,
    Operation::ReadMessages,
    Operation::WriteMessages,
    Operation::ReadAgreement,
    Operation::EditAgreement,
    Operation::Export,
];

#[test]
fn admins_run_the_pair_but_never_read_what_the_people_wrote() {
    let admin = Caller::Admin {
        actor: "api-key".into(),
    };
    for op in ALL_OPS {
        let allowed = check(&admin, op, false).is_ok();
        let expected = matches!(
            op,
            Operation::ReadOutline | Operation::Manage | Operation::Schedule
        );
        assert_eq!(allowed, expected, "{op:?}");
    }
}

#[test]
fn a_person_does_everything_but_manage() {
    for role in Role::ALL {
        let person = Caller::Person { role };
        for op in ALL_OPS {
            assert_eq!(
                check(&person, op, false).is_ok(),
                op != Operation::Manage,
                "{role:?} {op:?}"
            );
        }
    }
}

#[test]
fn a_call_token_reaches_only_the_side_panel() {
    let call = Caller::Call {
        role: Role::Mentee,
        session: session(),
    };
    let allowed: Vec<_> = ALL_OPS
        .into_iter()
        .filter(|op| check(&call, *op, false).is_ok())
        .collect();
    assert_eq!(
        allowed,
        [
            Operation::ReadOutline,
            Operation::ReadAgenda,
            Operation::EditAgenda,
            Operation::ReadActions,
            Operation::EditActions,
            Operation::ReadNotes,
            Operation::WriteNotes,
        ]
    );
    assert_eq!(
        check(&call, Operation::ReadMessages, false),
        Err(Denied::PersonalLinkOnly)
    );
}

#[test]
fn an_ended_pair_is_read_only_but_can_be_exported_and_managed() {
    let person = Caller::Person { role: Role::Mentor };
    for op in [
        Operation::Schedule,
        Operation::EditSelf,
        Operation::Join,
        Operation::EditAgenda,
        Operation::EditActions,
        Operation::WriteNotes,
        Operation::WriteMessages,
        Operation::EditAgreement,
    ] {
        assert_eq!(check(&person, op, true), Err(Denied::Ended), "{op:?}");
    }
    for op in [
        Operation::ReadOutline,
        Operation::ReadNotes,
        Operation::ReadMessages,
        Operation::Export,
    ] {
        assert_eq!(check(&person, op, true), Ok(()), "{op:?}");
    }
    let admin = Caller::Admin { actor: "a".into() };
    assert_eq!(check(&admin, Operation::Manage, true), Ok(()));
}

#[test]
fn a_private_note_is_seen_by_its_author_alone() {
    for author in Role::ALL {
        for viewer in Role::ALL {
            assert_eq!(
                note_visible_to(author, Visibility::Private, viewer),
                author == viewer
            );
            assert!(note_visible_to(author, Visibility::Shared, viewer));
            assert_eq!(note_editable_by(author, viewer), author == viewer);
        }
    }
}

#[test]
fn visibility_round_trips_and_refuses_anything_else() {
    for v in [Visibility::Private, Visibility::Shared] {
        assert_eq!(Visibility::parse(v.as_str()), Some(v));
    }
    assert_eq!(Visibility::parse("public"), None);
    assert_eq!(Visibility::parse("Private"), None);
}
