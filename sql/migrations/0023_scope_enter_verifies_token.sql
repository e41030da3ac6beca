-- scope_enter() verifies the request's bearer token in the transaction it
-- scopes (issue 16: the token lookup no longer needs a round trip of its
-- own when the API already knows the principal).  Its arguments change, so
-- the old function is dropped here and sql/functions/foundation/scope_enter.sql
-- creates the new one, with its grant (IF EXISTS: a new database has no
-- functions yet when its migrations run).  Nothing else called the old one:
-- a scope entered without a token would be the hole this change closes.
DROP FUNCTION IF EXISTS scope_enter(bigint, date);
