from conversion import create_app

app = create_app()
