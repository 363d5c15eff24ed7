from tomning.cli import app

app()
