{#-
    The one reference moment of the analytics marts: var analytics_as_of_date (end of that
    day), else the latest activity in the data, so a replayed demo data set gives the same
    answers whatever day it runs.
-#}

select
    as_of_at,
    cast(as_of_at as date) as as_of_date,
    {{ month_start('as_of_at') }} as as_of_month
from (
    select {{ analytics_as_of_sql() }} as as_of_at
) as as_of
where as_of_at is not null
