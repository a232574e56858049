{#
    The validation gate of a training-runs table: fails when the newest run's holdout
    ROC AUC is not above the naive baseline's by min_auc_lift, or its expected
    calibration error exceeds max_calibration_error. While the build runs, the reason is
    raised as one line, naming the figures; models downstream of the runs table are
    skipped, so the published scores keep their previous contents.
#}
{% test model_beats_baseline(model, min_auc_lift, max_calibration_error) %}

    {%- set condition -%}
        roc_auc > baseline_roc_auc + {{ min_auc_lift }}
    and calibration_error <= {{ max_calibration_error }}
    {%- endset -%}
    {%- set newest -%}
    select roc_auc, baseline_roc_auc, calibration_error
    from {{ model }}
    order by trained_at desc
    limit 1
    {%- endset -%}

{%- if execute -%}
    {%- set rows = run_query(newest).rows -%}
    {%- if rows | length > 0 -%}
        {%- set auc, base, ece = rows[0][0] | float, rows[0][1] | float, rows[0][2] | float -%}
        {%- if not (auc > base + min_auc_lift) -%}
            {{ exceptions.raise_compiler_error(
                "ML gate failed on " ~ model.identifier ~ ": holdout ROC AUC "
                ~ "%.3f" | format(auc) ~ " is not above the baseline's "
                ~ "%.3f" | format(base) ~ " by " ~ min_auc_lift
                ~ "; the scores are not published"
            ) }}
        {%- elif ece > max_calibration_error -%}
            {{ exceptions.raise_compiler_error(
                "ML gate failed on " ~ model.identifier ~ ": holdout calibration error "
                ~ "%.3f" | format(ece) ~ " exceeds " ~ max_calibration_error
                ~ "; the scores are not published"
            ) }}
        {%- endif -%}
    {%- endif -%}
{%- endif %}

select *
from (
    select *
    from {{ model }}
    order by trained_at desc
    limit 1
) as newest_run
where not ({{ condition }})

{% endtest %}
