import asyncio

from tessera_shared.http.health import HealthChecks


async def test_readiness_is_up_only_when_every_check_passes():
    health = HealthChecks(timeout=0.2)

    async def fine() -> dict[str, str]:
        return {"version": "1"}

    async def broken() -> None:
        raise ConnectionRefusedError("password=hunter2")

    async def hangs() -> None:
        await asyncio.sleep(5)

    health.add("db", fine)
    assert (await health.run()).status == "up"
    health.add("cache", broken)
    health.add("broker", hangs)
    report = await health.run()
    assert report.status == "down"
    assert report.checks["db"].details == {"version": "1"}
    assert report.checks["cache"].error == "ConnectionRefusedError"
    assert report.checks["broker"].error == "timeout"


async def test_a_part_without_checks_is_not_ready():
    assert (await HealthChecks().run()).status == "down"


async def test_an_optional_dependency_that_is_down_is_reported_without_making_the_part_unready():
    health = HealthChecks(timeout=0.2)

    async def fine() -> None:
        return None

    async def broken() -> None:
        raise ConnectionRefusedError

    health.add("db", fine)
    health.add("broker", broken, required=False)
    report = await health.run()
    assert report.status == "up"
    assert (report.checks["broker"].status, report.checks["broker"].required) == ("down", False)
    health.add("cache", broken)
    assert (await health.run()).status == "down"
