with

source as (

    select * from {{ source('erp', 'customers') }}

),

renamed as (

    select
        cast(customer_id as bigint) as customer_id,

        -- PII: names are reduced to initials, the email to a hash and its domain,
        -- the phone number to whether there is one.
        nullif(
            coalesce({{ initial_of('first_name') }}, '')
            || coalesce({{ initial_of('last_name') }}, ''),
            ''
        ) as customer_initials,
        {{ hash_pii("nullif(trim(email), '')") }} as email_hash,
        nullif(
            {{ dbt.split_part("lower(trim(email))", "'@'", 2) }},
            ''
        ) as email_domain,
        nullif(trim(email), '') is not null as has_email,
        nullif(trim(phone), '') is not null as has_phone,

        nullif(trim(city), '') as city,
        cast(signed_up_at as timestamp) as signed_up_at,
        cast(updated_at as timestamp) as updated_at,
        _loaded_at as loaded_at

    from source

),

final as (

    select * from renamed

)

select * from final
