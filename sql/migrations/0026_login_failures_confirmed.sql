-- A sign-in attempt is counted as a failure before its password is checked
-- (api/http/authentication.c), so that parallel guesses cannot outrun the
-- limit.  Until now the reservation simply stayed when the attempt was
-- never judged -- the answer was a 503 after the check (the request pool
-- full, the database gone, the server stopping) -- and a user who typed the
-- right password during an outage was locked out with the guessers.  Now a
-- reservation is unconfirmed: it counts for a minute (the longest an
-- attempt waits for its check), and a wrong password confirms it for the
-- whole window.  Rows written before are failures already judged.
ALTER TABLE login_failures ADD COLUMN confirmed boolean NOT NULL DEFAULT true;
GRANT UPDATE (confirmed) ON login_failures TO baove_app;
