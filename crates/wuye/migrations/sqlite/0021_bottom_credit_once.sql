-- A bottom place's credit deduction is issued by the supervision sweep, which retries it
-- until it is issued (supervision::open_from_close): one record per run and project, whoever
-- issues it and however often it is tried. (A partly upheld appeal's replacement copies the
-- source of the record it replaces: it is not the deduction, and is not counted here.)
CREATE UNIQUE INDEX credit_records_bottom_n ON credit_records (source_ref, company_id, compound_id)
    WHERE source = 'bottom_n' AND replaces_record_id IS NULL;
