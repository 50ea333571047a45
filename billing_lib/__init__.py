"""Billing workbench: vendor billing reports in, one invoice per customer and ledger files out.

Data flows one way: reports -> normalised lines (``importers``) -> customer-mapped lines
(``customers``) -> rated lines (``rating``) -> invoices -> workbooks, ledger, charts.
"""

__version__ = "0.1.0"
