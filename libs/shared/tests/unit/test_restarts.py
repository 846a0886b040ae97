from tessera_shared.restarts import (
    GiveUp,
    Restart,
    RestartPolicy,
    decide,
    describe_exit,
    give_up_line,
    restart_line,
)

POLICY = RestartPolicy(limit=3, window_s=60, first_delay_s=0.5, max_delay_s=1.5)


def test_a_first_exit_is_restarted_after_the_first_delay():
    assert decide(POLICY, (), now=100) == Restart(count=1, delay_s=0.5)


def test_each_further_restart_in_the_window_waits_twice_as_long_up_to_the_longest_wait():
    assert decide(POLICY, (90,), now=100) == Restart(count=2, delay_s=1.0)
    assert decide(POLICY, (80, 90), now=100) == Restart(count=3, delay_s=1.5)


def test_an_exit_past_the_limit_within_the_window_gives_up():
    assert decide(POLICY, (50, 80, 90), now=100) == GiveUp(restarts=3)


def test_restarts_older_than_the_window_no_longer_count_toward_the_limit_or_the_wait():
    assert decide(POLICY, (10, 20, 30, 95), now=100) == Restart(count=5, delay_s=1.0)
    assert decide(POLICY, (10, 40), now=100) == Restart(count=3, delay_s=0.5)


def test_a_limit_of_zero_never_restarts():
    assert decide(RestartPolicy(limit=0), (), now=0) == GiveUp(restarts=0)


def test_an_exit_is_described_by_its_status_or_the_signal_that_ended_it():
    assert describe_exit(3) == "status 3"
    assert describe_exit(0) == "status 0"
    assert describe_exit(-9) == "killed by SIGKILL"
    assert describe_exit(-200) == "killed by signal 200"


def test_the_restart_line_names_the_part_its_exit_the_restart_count_and_the_wait():
    line = restart_line("session", -9, Restart(count=2, delay_s=1.0), POLICY)
    assert line == (
        "run: session exited unexpectedly (killed by SIGKILL); restart 2 in 1 s "
        "(at most 3 within 60 s)"
    )


def test_the_give_up_line_names_the_part_and_says_the_suite_stops():
    line = give_up_line("identity", 1, GiveUp(restarts=3), POLICY)
    assert line == (
        "identity exited again (status 1) after 3 restarts within 60 s; "
        "stopping the suite (see its log lines above)"
    )
