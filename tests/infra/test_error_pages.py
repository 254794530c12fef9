from django.template.loader import render_to_string
from django.test import RequestFactory


def test_the_404_page_uses_the_layout(client, db):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert b"find that page" in response.content


def test_the_500_page_renders_without_a_request_context():
    html = render_to_string("500.html", {}, request=RequestFactory().get("/"))
    assert "Something went wrong" in html
