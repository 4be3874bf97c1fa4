module github.com/doppelhealth/doppel

go 1.26
