with

source as (

    select * from {{ source('erp', 'supplies') }}

),

renamed as (

    select
        trim(supply_id) as supply_id,
        upper(trim(product_id)) as product_id,
        trim(supply_name) as supply_name,
        cast(cost_cents as bigint) as supply_cost_cents,
        {{ cents_to_dollars('cost_cents') }} as supply_cost_usd,
        cast(is_perishable as boolean) as is_perishable_supply,
        _loaded_at as loaded_at

    from source

),

final as (

    select * from renamed

)

select * from final
