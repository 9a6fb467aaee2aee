use super::*;

const MENTOR: Role = Role::Mentor;
const MENTEE: Role = Role::Mentee;

fn both_present() -> Captions {
    Captions::default()
}

#[test]
fn turning_captions_on_asks_the_other_and_only_agreed_speakers_are_captioned() {
    let mut c = both_present();
    assert!(!c.captioned(MENTOR) && !c.captioned(MENTEE));
    let event = c.act(MENTOR, CaptionsAction::On, false, true);
    assert_eq!(
        event,
        Ok(Some(CaptionsEvent::TurnedOn {
            by: MENTOR,
            translate: false
        }))
    );
    assert!(c.status().mentee.asked, "the mentee is asked");
    // The one who turned them on agreed; the other has not yet.
    assert!(c.captioned(MENTOR));
    assert!(!c.captioned(MENTEE), "not before they agree");
    assert_eq!(c.readers().collect::<Vec<_>>(), [MENTOR]);

    assert_eq!(
        c.act(MENTEE, CaptionsAction::Accept, false, true),
        Ok(Some(CaptionsEvent::Accepted { by: MENTEE }))
    );
    assert!(c.captioned(MENTEE));
    assert!(!c.status().mentee.asked);
    assert!(!c.status().mentee.on, "agreeing is not reading captions");
}

#[test]
fn a_decline_leaves_the_speaker_uncaptioned() {
    let mut c = both_present();
    c.act(MENTEE, CaptionsAction::On, false, true).expect("on");
    assert_eq!(
        c.act(MENTOR, CaptionsAction::Decline, false, true),
        Ok(Some(CaptionsEvent::Declined { by: MENTOR }))
    );
    assert!(!c.captioned(MENTOR));
    assert!(!c.status().mentor.asked);
    // Nobody asked now: a late accept is refused.
    assert_eq!(
        c.act(MENTOR, CaptionsAction::Accept, false, true),
        Err(CaptionsRefused::NotAsked)
    );
    assert!(!c.captioned(MENTOR));
}

#[test]
fn either_turning_them_off_stops_all_captions_of_that_person() {
    let mut c = both_present();
    c.act(MENTOR, CaptionsAction::On, false, true).expect("on");
    c.act(MENTEE, CaptionsAction::Accept, false, true)
        .expect("accept");
    // The reader turns them off: nobody reads, so nobody is captioned.
    assert_eq!(
        c.act(MENTOR, CaptionsAction::Off, false, true),
        Ok(Some(CaptionsEvent::TurnedOff { by: MENTOR }))
    );
    assert!(!c.captioned(MENTOR) && !c.captioned(MENTEE));
    assert!(!c.status().mentee.agreed, "agreed to that request only");

    // The speaker turns them off: withdrawn, even while the other reads.
    c.act(MENTOR, CaptionsAction::On, false, true).expect("on");
    c.act(MENTEE, CaptionsAction::Accept, false, true)
        .expect("accept");
    c.act(MENTEE, CaptionsAction::Off, false, true)
        .expect("off");
    assert!(!c.captioned(MENTEE));
    assert!(c.captioned(MENTOR), "the mentor still reads their own");
    assert!(!c.status().mentee.asked, "not asked again until asked anew");
}

#[test]
fn leaving_ends_what_one_agreed_to_and_a_newcomer_is_asked() {
    let mut c = both_present();
    c.act(MENTOR, CaptionsAction::On, false, true).expect("on");
    c.act(MENTEE, CaptionsAction::Accept, false, true)
        .expect("accept");
    assert_eq!(c.absent(MENTEE), Some(CaptionsEvent::Left { by: MENTEE }));
    assert!(!c.captioned(MENTEE));
    assert_eq!(c.status().mentee, PersonCaptions::default());
    // Back: asked again, not captioned until they agree again.
    c.present(MENTEE);
    assert!(c.status().mentee.asked);
    assert!(!c.captioned(MENTEE));
    // The reader leaves: the question is moot.
    c.absent(MENTOR);
    assert!(!c.status().mentee.asked);
}

#[test]
fn alone_in_the_call_nobody_is_asked_until_they_join() {
    let mut c = both_present();
    c.act(MENTOR, CaptionsAction::On, false, false).expect("on");
    assert!(!c.status().mentee.asked);
    c.present(MENTEE);
    assert!(c.status().mentee.asked);
}

#[test]
fn translation_is_for_the_reader_of_the_other_speaker() {
    let mut c = both_present();
    c.act(MENTOR, CaptionsAction::On, true, true).expect("on");
    c.act(MENTEE, CaptionsAction::Accept, false, true)
        .expect("accept");
    assert!(
        c.translated(MENTEE),
        "the mentee's words, in English, for the mentor"
    );
    assert!(!c.translated(MENTOR));
    // Changing only the translation is a new choice, logged again.
    assert_eq!(
        c.act(MENTOR, CaptionsAction::On, false, true),
        Ok(Some(CaptionsEvent::TurnedOn {
            by: MENTOR,
            translate: false
        }))
    );
    assert_eq!(
        c.act(MENTOR, CaptionsAction::On, false, true),
        Ok(None),
        "no change"
    );
    assert!(!c.translated(MENTEE));
}
