{#
    Fails for every row where the column is below zero. NULLs pass (combine with
    not_null when they should not).
#}
{% test not_negative(model, column_name) %}

select {{ column_name }}
from {{ model }}
where {{ column_name }} < 0

{% endtest %}
