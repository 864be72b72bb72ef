//! The live-edit console without a sound card: the engine's audio half is run by hand.

use aether_cli::console::{ConsoleError, Request, Session, parse};
use aether_cli::patch::{demo, registry};
use aether_scheduler::{AudioProcessor, EngineConfig, engine};
use aether_state::GraphSnapshot;

fn demo_session() -> (Session, AudioProcessor) {
    let (control, audio) = engine(48_000.0, EngineConfig::default()).unwrap();
    (
        Session::load(control, registry(), &demo().snapshot).unwrap(),
        audio,
    )
}

/// Runs `line` and lets the audio side apply it; returns the printed answer.
fn run(session: &mut Session, audio: &mut AudioProcessor, line: &str) -> String {
    let answer = session
        .handle_line(line)
        .unwrap_or_else(|| panic!("{line:?} got no answer"));
    audio.process_block();
    session.tick();
    answer.to_string()
}

fn status(answer: &str) -> &str {
    answer.lines().last().unwrap_or_default()
}

#[test]
fn parsing_words_quotes_and_numbers() {
    assert_eq!(parse("").unwrap(), None);
    assert_eq!(parse("   # a comment").unwrap(), None);
    assert_eq!(
        parse("set \"lead filter\" freq 900 25").unwrap(),
        Some(Request::Set {
            node: "lead filter".into(),
            param: "freq".into(),
            value: 900.0,
            ramp_ms: 25.0,
        })
    );
    assert_eq!(
        parse("SET 2 q 1").unwrap(),
        Some(Request::Set {
            node: "2".into(),
            param: "q".into(),
            value: 1.0,
            ramp_ms: 0.0,
        })
    );
    assert_eq!(parse("EXIT").unwrap(), Some(Request::Quit));
    assert!(matches!(
        parse("set 2 freq \"900").unwrap_err(),
        ConsoleError::UnterminatedQuote { .. }
    ));
    assert!(matches!(
        parse("set 2 freq nan").unwrap_err(),
        ConsoleError::BadNumber { .. }
    ));
    assert!(matches!(
        parse("set 2 freq inf").unwrap_err(),
        ConsoleError::BadNumber { .. }
    ));
    assert!(matches!(
        parse("set 2 freq 900 -5").unwrap_err(),
        ConsoleError::BadRamp { .. }
    ));
    assert!(matches!(
        parse("connect 1 2 -1").unwrap_err(),
        ConsoleError::BadNumber { .. }
    ));
    assert_eq!(
        parse("connect 1 2").unwrap_err().to_string(),
        "usage: connect <source> <destination> <slot>"
    );
    assert_eq!(parse("quit now").unwrap_err().to_string(), "usage: quit");
    assert_eq!(
        parse("jump 3").unwrap_err().to_string(),
        "unknown command \"jump\" (`help` lists the commands)"
    );
}

#[test]
fn every_command_answers_with_one_status_line() {
    let (mut session, mut audio) = demo_session();
    let types = run(&mut session, &mut audio, "types");
    assert_eq!(
        status(&types),
        format!("ok {} node types", registry().type_names().count())
    );
    assert!(types.contains("\n  Sine\n"), "{types}");
    for (line, expected) in [
        ("help", "ok 13 commands"),
        ("nodes", "ok 25 nodes, 24 edges, output 24"),
        (
            "set 2 freq 900",
            "ok 2 \"lead filter\" (Biquad) freq = 900Hz",
        ),
        ("add Sine", "ok added 25 (Sine)"),
        (
            "add Gain \"probe gain\"",
            "ok added 26 \"probe gain\" (Gain)",
        ),
        (
            "connect 25 \"probe gain\" 0",
            "ok connected 25 (Sine) -> 26 \"probe gain\" (Gain) input 0",
        ),
        ("output 26", "ok output is 26 \"probe gain\" (Gain)"),
        (
            "disconnect 26 0",
            "ok disconnected 25 (Sine) from 26 \"probe gain\" (Gain) input 0",
        ),
        (
            "disconnect 26 0",
            "ok input 0 of 26 \"probe gain\" (Gain) was not connected",
        ),
        (
            "remove 26",
            "ok removed 26 \"probe gain\" (Gain) (it was the output: silence until `output` names another node)",
        ),
        ("output master", "ok output is 24 \"master\" (Gain)"),
        ("stats", "ok blocks 12, non-finite 0, commands applied 13"),
        ("quit", "ok bye"),
    ] {
        let answer = run(&mut session, &mut audio, line);
        assert_eq!(status(&answer), expected, "{line}");
        for detail in answer.lines().rev().skip(1) {
            assert!(detail.starts_with("  "), "{line}: listing line {detail:?}");
        }
    }
    assert_eq!(session.edits().succeeded, 14);
    assert_eq!(session.edits().failed, 0);
    assert!(session.handle_line("quit").unwrap().quit());
    assert!(!session.handle_line("nodes").unwrap().quit());
    assert!(session.handle_line("").is_none());
}

#[test]
fn errors_are_typed_and_name_the_culprit() {
    let (mut session, mut audio) = demo_session();
    let cases = [
        (
            "set 99 gain 1",
            "error: no node \"99\" (`nodes` lists ids and names)",
        ),
        (
            "set nobody gain 1",
            "error: no node \"nobody\" (`nodes` lists ids and names)",
        ),
        (
            "set master volume 1",
            "error: node 24 \"master\" (Gain) has no parameter \"volume\" (it has: gain)",
        ),
        (
            "set 5 gain 1",
            "error: node 5 \"lead vca\" (Multiply) has no parameter \"gain\" (it has none)",
        ),
        (
            "set master gain 17",
            "error: node 24 \"master\" (Gain): gain = 17 is outside its range [0, 16]",
        ),
        (
            "set master gain loud",
            "error: \"loud\" is not a valid parameter value",
        ),
        (
            "connect 1 2 8",
            "error: input slot 8 of node 2 \"lead filter\" (Biquad) is out of range (nodes have inputs 0 to 7)",
        ),
        (
            "connect master echo 0",
            "error: connecting 24 \"master\" (Gain) -> 23 \"echo\" (Delay) would create a cycle: \
             23 \"echo\" (Delay) -> 24 \"master\" (Gain) -> 23 \"echo\" (Delay)",
        ),
        (
            "connect 2 2 0",
            "error: connecting 2 \"lead filter\" (Biquad) -> 2 \"lead filter\" (Biquad) would create a cycle: 2 \"lead filter\" (Biquad) -> 2 \"lead filter\" (Biquad)",
        ),
        (
            "add Theremin",
            "error: unknown node type \"Theremin\" (known: ",
        ),
        (
            "add Sine master",
            "error: the name \"master\" is taken by node 24",
        ),
        (
            "add Sine 12",
            "error: \"12\" cannot name a node: a name must be non-empty and not a number",
        ),
        (
            "disconnect 24 9",
            "error: input slot 9 of node 24 \"master\" (Gain) is out of range",
        ),
        ("remove 77", "error: no node \"77\""),
        (
            "save /nonexistent-dir/patch.json",
            "error: cannot save /nonexistent-dir/patch.json: ",
        ),
    ];
    for (line, expected) in cases {
        let answer = run(&mut session, &mut audio, line);
        assert!(
            answer.starts_with(expected),
            "{line}:\n  got  {answer}\n  want {expected}"
        );
        assert_eq!(answer.lines().count(), 1, "{line}");
    }
    // Nothing changed.
    assert_eq!(
        status(&run(&mut session, &mut audio, "nodes")),
        "ok 25 nodes, 24 edges, output 24"
    );
    assert_eq!(session.edits().failed, cases.len() as u64);
}

#[test]
fn names_that_several_nodes_carry_are_ambiguous() {
    let mut snapshot = demo().snapshot;
    snapshot.nodes[1].label = Some("twin".into());
    snapshot.nodes[2].label = Some("twin".into());
    let (control, mut audio) = engine(48_000.0, EngineConfig::default()).unwrap();
    let mut session = Session::load(control, registry(), &snapshot).unwrap();
    let answer = run(&mut session, &mut audio, "set twin gain 0.5");
    assert_eq!(
        answer,
        "error: the name \"twin\" is ambiguous (nodes [1, 2] carry it): use an id"
    );
}

#[test]
fn save_writes_console_ids_and_names_and_reloads_identically() {
    let (mut session, mut audio) = demo_session();
    run(&mut session, &mut audio, "remove 3");
    run(&mut session, &mut audio, "add Sine probe");
    run(&mut session, &mut audio, "connect probe 22 4");
    run(&mut session, &mut audio, "set probe freq 330");
    let path = std::env::temp_dir().join(format!("aether-console-{}.json", std::process::id()));
    let answer = run(
        &mut session,
        &mut audio,
        &format!("save {}", path.display()),
    );
    assert_eq!(
        answer,
        format!("ok saved 25 nodes and 24 edges to {}", path.display())
    );
    let json = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let saved = GraphSnapshot::from_json(&json).unwrap();
    assert_eq!(saved, session.snapshot());
    let probe = saved.nodes.iter().find(|node| node.id == 25).unwrap();
    assert_eq!(probe.label.as_deref(), Some("probe"));
    assert_eq!(probe.params["freq"], 330.0);
    assert!(saved.nodes.iter().all(|node| node.id != 3));
    assert!(
        saved
            .edges
            .iter()
            .any(|edge| edge.from == 25 && edge.to == 22 && edge.slot == 4)
    );
    assert_eq!(saved.output, Some(24));

    // Reloading gives the same console ids, names and listing.
    let (control, mut reloaded_audio) = engine(48_000.0, EngineConfig::default()).unwrap();
    let mut reloaded = Session::load(control, registry(), &saved).unwrap();
    assert_eq!(
        run(&mut reloaded, &mut reloaded_audio, "nodes"),
        run(&mut session, &mut audio, "nodes")
    );
}

#[test]
fn a_full_command_ring_is_reported_and_the_edit_is_retried() {
    let config = EngineConfig {
        command_capacity: 4,
        ..EngineConfig::default()
    };
    let (control, mut audio) = engine(48_000.0, config).unwrap();
    let mut session = Session::load(control, registry(), &demo().snapshot).unwrap();
    session.set_commit_timeout(std::time::Duration::ZERO);
    // No audio block runs: the ring (the patch's commit plus parameter changes) fills up.
    let mut busy = None;
    for step in 0..8 {
        let answer = session
            .handle_line(&format!("set master gain 0.{step}"))
            .unwrap();
        if let Err(error) = &answer.outcome {
            busy = Some(error.clone());
            break;
        }
    }
    let busy = busy.expect("a ring of 4 commands fills up");
    assert!(matches!(busy, ConsoleError::Busy { .. }), "{busy}");
    assert!(session.controller().has_pending_changes());
    // Once the audio side runs, housekeeping sends what was pending.
    for _ in 0..4 {
        audio.process_block();
        session.tick();
    }
    assert!(!session.controller().has_pending_changes());
}

#[test]
fn edits_after_the_audio_side_is_gone_are_refused() {
    let (mut session, audio) = demo_session();
    drop(audio);
    let answer = session.handle_line("set master gain 0.1").unwrap();
    assert_eq!(
        answer.to_string(),
        "error: the audio engine has stopped; edits cannot reach it"
    );
}

#[test]
fn nodes_added_from_the_console_are_held_to_the_state_budget() {
    // The demo's echo holds 2 s at 96 kHz (768 004 bytes); a budget just above it leaves no
    // room for a second default delay, and removing the echo makes room again.
    let (control, mut audio) = engine(48_000.0, EngineConfig::default()).unwrap();
    let limits = aether_state::RestoreLimits {
        state_budget: 800_000,
    };
    let mut session = Session::load_within(control, registry(), &demo().snapshot, limits).unwrap();
    let answer = run(&mut session, &mut audio, "add Delay");
    assert!(
        status(&answer).starts_with("error: a Delay asks for 768004 bytes of state, but only"),
        "{answer}"
    );
    let answer = run(&mut session, &mut audio, "add Gain");
    assert!(status(&answer).starts_with("ok added"), "{answer}");
    let answer = run(&mut session, &mut audio, "remove echo");
    assert!(status(&answer).starts_with("ok removed"), "{answer}");
    let answer = run(&mut session, &mut audio, "add Delay");
    assert!(status(&answer).starts_with("ok added"), "{answer}");
}
