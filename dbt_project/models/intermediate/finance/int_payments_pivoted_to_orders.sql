{#
    One row per order that has at least one payment record. Only successful
    payments move money: failed attempts are counted but never summed.
    The method list must match seeds/payment_methods.csv; a payment method that
    is not in the seed fails the relationships test on stg_payments__payments.
#}
{%- set payment_methods = ['credit_card', 'debit_card', 'gift_card', 'voucher'] -%}

with

payments as (

    select * from {{ ref('stg_payments__payments') }}

),

payments_classified as (

    select
        *,
        is_successful and payment_kind = 'charge' as is_successful_charge,
        is_successful and payment_kind = 'refund' as is_successful_refund

    from payments

),

pivoted_to_orders as (

    select
        order_id,

        sum(case when is_successful_charge then amount_cents else 0 end) as amount_paid_cents,
        -- refunds are stored negative; report the refunded amount as a positive number
        -sum(case when is_successful_refund then amount_cents else 0 end) as amount_refunded_cents,

        sum(case when is_successful_charge then 1 else 0 end) as charge_count,
        sum(case when is_successful_refund then 1 else 0 end) as refund_count,
        sum(case when not is_successful then 1 else 0 end) as failed_payment_count,

        {% for payment_method in payment_methods %}
            sum(
                case
                    when is_successful_charge and payment_method = '{{ payment_method }}' then 1
                    else 0
                end
            ) as {{ payment_method }}_payment_count,
        {% endfor %}

        min(case when is_successful_charge then created_at end) as first_paid_at,
        max(case when is_successful_refund then created_at end) as last_refunded_at,
        max(updated_at) as last_payment_updated_at

    from payments_classified
    group by order_id

),

final as (

    select
        order_id,
        {{ cents_to_dollars('amount_paid_cents') }} as amount_paid_usd,
        {{ cents_to_dollars('amount_refunded_cents') }} as amount_refunded_usd,
        {{ cents_to_dollars('amount_paid_cents - amount_refunded_cents') }} as net_paid_usd,
        cast(charge_count as integer) as charge_count,
        cast(refund_count as integer) as refund_count,
        cast(failed_payment_count as integer) as failed_payment_count,
        {% for payment_method in payment_methods %}
            cast({{ payment_method }}_payment_count as integer)
                as {{ payment_method }}_payment_count,
        {% endfor %}
        first_paid_at,
        last_refunded_at,
        last_payment_updated_at

    from pivoted_to_orders

)

select * from final
