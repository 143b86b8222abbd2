#!/bin/sh
exec "${MF_BUILD:-${0%/*}/../build}/t/test_report"
