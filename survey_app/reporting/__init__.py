"""Every database read a report needs, and the one path from a request to a rendered report.

`scope` (the wave a report shows, its responses in scope, its grouping, the survey as the
statistics see it), `summary_data` (`load_summary`: a wave's summary from the stored Likert
vectors and SQL aggregates), `report_inputs` (the period, wording and quotes beside it),
`report` (`build_summary`, `build_report` and `render_report`, which the web, the command line
and the benchmarks share), `report_store` (rendered PDFs kept in the database by what they
show), `report_jobs` (rendering them on the Redis queue or a background thread) and
`response_counts` (the reports page's counts and the response rates by organisation). The
statistics themselves are `reports/`, which never reads the database.
"""
