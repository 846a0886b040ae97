import asyncio
import time

from tessera_shared.shutdown import within


async def test_a_shutdown_step_that_hangs_is_left_after_its_deadline():
    started = time.perf_counter()
    await within("stuck", asyncio.Event().wait(), seconds=0.1)
    assert time.perf_counter() - started < 1


async def test_a_failing_shutdown_step_does_not_stop_the_next_one():
    async def broken() -> None:
        raise ConnectionResetError

    done = []
    await within("broken", broken())
    await within("next", asyncio.sleep(0, result=done.append(1)))
    assert done == [1]
