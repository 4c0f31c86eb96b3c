-- Per-tenant quotas of the operator API, set by the platform's administrators (NULL: no limit).
CREATE TABLE tenant_quotas (
    operator_id          INTEGER PRIMARY KEY REFERENCES operators(id),
    api_rps              INTEGER CHECK (api_rps > 0),
    batch_cards_per_day  INTEGER CHECK (batch_cards_per_day > 0),
    inventory_max        INTEGER CHECK (inventory_max > 0)
);
