"""How a long document is cut into ranges that each fit one Lambda call, when it is cut, and which deployments
are refused."""

from hypothesis import given
from hypothesis import strategies as st

from ocrflow.workflow.page_ranges import RangePlan
from ocrflow.workflow.settings import MEASURED_EMBEDDED_SECONDS_PER_PAGE, WorkflowSettings

DEPLOYED = WorkflowSettings(results_bucket="r", jobs_table="j").range_plan


def test_a_range_is_about_30_seconds_of_ocr_at_the_measured_cost_per_page():
    assert MEASURED_EMBEDDED_SECONDS_PER_PAGE == 1.64  # 1.9 CPU-s per full real page on 1.16 vCPU (2,048 MB)
    assert DEPLOYED.range_pages == 18
    assert DEPLOYED.range_pages * 1.64 <= 30 < (DEPLOYED.range_pages + 1) * 1.64


def test_a_range_never_takes_more_than_a_third_of_its_functions_time_out():
    slow = RangePlan(seconds_per_page=5.0, range_call_seconds=300, range_seconds=600)
    assert slow.range_pages == 20  # 100 s: a third of 300 s, though 600 s were asked for
    assert RangePlan(seconds_per_page=0.92, range_call_seconds=300, fixed_range_pages=500).range_pages == 108


def test_the_page_limits_document_fans_out_into_ranges_covering_every_page_once_in_order():
    ranges = DEPLOYED.ranges(2000)
    assert len(ranges) == 112 and [r.index for r in ranges] == list(range(112))
    assert [p for r in ranges for p in range(r.first_page, r.first_page + r.page_count)] == list(range(2000))
    assert not DEPLOYED.fits_one_call(2000) and not DEPLOYED.fits_one_call(55) and DEPLOYED.fits_one_call(54)
    assert len(ranges) <= DEPLOYED.concurrency  # the page limit's ranges run in one wave


def test_a_call_with_little_time_left_starts_no_work_it_could_not_finish():
    assert DEPLOYED.fits_one_call(30)
    assert not DEPLOYED.fits_one_call(30, remaining_seconds=140)  # 49 s of work: more than a third of 140 s
    assert DEPLOYED.fits_one_call(30, remaining_seconds=150)
    assert DEPLOYED.fits_range(18) and not DEPLOYED.fits_range(18, remaining_seconds=80)


def test_the_default_deployment_finishes_its_largest_document_within_the_job_deadline():
    assert DEPLOYED.problem(max_pages=2000, deadline_seconds=1800) is None
    assert DEPLOYED.fan_out_seconds(2000) <= 1800


def test_deployments_that_could_accept_a_document_they_cannot_finish_are_named():
    one_at_a_time = RangePlan(seconds_per_page=0.92, concurrency=1)
    assert "longer than the job deadline" in one_at_a_time.problem(max_pages=2000, deadline_seconds=1800)
    too_slow = RangePlan(seconds_per_page=400, range_call_seconds=900)
    assert "no range of pages fits one call" in too_slow.problem(max_pages=10, deadline_seconds=1800)


@given(pages=st.integers(1, 5000), per_page=st.floats(0.05, 30), range_seconds=st.floats(1, 600),
       fixed=st.one_of(st.none(), st.integers(1, 400)))
def test_ranges_cover_the_document_and_each_fits_its_call(pages, per_page, range_seconds, fixed):
    plan = RangePlan(seconds_per_page=per_page, range_seconds=range_seconds, fixed_range_pages=fixed)
    if plan.range_pages < 1:
        assert plan.problem(max_pages=pages, deadline_seconds=10**9) is not None
        return
    ranges = plan.ranges(pages)
    assert [p for r in ranges for p in range(r.first_page, r.first_page + r.page_count)] == list(range(pages))
    assert all(plan.fits_range(r.page_count) for r in ranges)
