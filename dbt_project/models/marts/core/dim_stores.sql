with

stores as (

    select * from {{ ref('stg_erp__stores') }}

),

final as (

    select
        cast(store_id as integer) as store_id,
        cast(store_name as {{ dbt.type_string() }}) as store_name,
        cast(city as {{ dbt.type_string() }}) as city,
        cast(opened_date as date) as opened_date,
        cast(tax_rate as numeric(6, 4)) as tax_rate

    from stores

)

select * from final
