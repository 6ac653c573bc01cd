"""Operations: failed runs raise an alert."""

import json

from conftest import use_home


def test_failed_run_raises_an_alert(tmp_path):
    """The run-failure sensor, evaluated on a real failed run, writes a PII-free alert."""
    import dagster as dg

    from orchestration.defs.alerts import run_failure_alert

    home = tmp_path / "cdw"
    use_home(home)

    @dg.op
    def boom():
        raise RuntimeError("source down")

    @dg.job
    def failing():
        boom()

    with dg.DagsterInstance.ephemeral() as instance:
        result = failing.execute_in_process(instance=instance, raise_on_error=False)
        assert not result.success
        failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_FAILURE)
        ctx = dg.build_run_status_sensor_context(
            sensor_name="run_failure_alert", dagster_instance=instance, dagster_run=result.dagster_run,
            dagster_event=failure,
        ).for_run_failure()
        run_failure_alert(ctx)
    alerts = [json.loads(line) for line in (home / "alerts" / "alerts.jsonl").read_text().splitlines()]
    assert alerts[-1]["run_id"] == result.run_id and alerts[-1]["failed_steps"] == ["boom"]
